# A release is imported by its environment's name, or <project>/<environment>.
terraform import progressive_release.checkout checkout
