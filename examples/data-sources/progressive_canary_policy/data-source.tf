# A policy that the platform team manages in its own workspace: the plan fails
# early when it does not exist, and the output shows what a release does.
data "progressive_canary_policy" "standard" {
  name = "standard"
}

output "release_plan" {
  value = data.progressive_canary_policy.standard.summary
}
