# An environment is imported by its name, or <project>/<name>.
terraform import progressive_release_environment.checkout checkout/checkout
