# A toggle is imported as <project>/<key>, or as <key> in the provider's project.
terraform import progressive_feature_toggle.new_checkout checkout/new-checkout
