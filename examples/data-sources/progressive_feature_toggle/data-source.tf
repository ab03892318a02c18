data "progressive_feature_toggle" "recommendations" {
  key = "recommendations"
}

output "recommendations_served" {
  value = data.progressive_feature_toggle.recommendations.effective_enabled ? "on" : "off (held by ${data.progressive_feature_toggle.recommendations.hold_name})"
}
