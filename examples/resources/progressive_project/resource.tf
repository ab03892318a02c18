resource "progressive_project" "checkout" {
  name        = "checkout"
  description = "Releases, toggles and dark launches of the checkout team."
}
