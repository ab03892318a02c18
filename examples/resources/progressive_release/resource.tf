# The business act: customers of "checkout" get the green slot. This can live
# in another workspace, another pull request and another team's hands than
# the environment.
resource "progressive_release" "checkout" {
  environment = "checkout"
  slot        = "green"
  trigger     = "v42"        # change it to retry after a rollback
  wait_for    = "completion" # or "start" (default): return once traffic moved

  timeouts {
    create = "30m"
    update = "30m"
  }
}
