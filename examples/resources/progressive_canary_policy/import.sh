# A canary policy is imported by its name, or <project>/<name>.
terraform import progressive_canary_policy.standard checkout/standard
