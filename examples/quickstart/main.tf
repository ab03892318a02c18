# The quick start: run it with `make quickstart` from the repository root,
# which starts an engine on its embedded SQLite store and applies this.
terraform {
  required_providers {
    progressive = {
      source = "progressive-delivery/progressive"
    }
  }
}

# Configured from PROGRESSIVE_ENDPOINT and PROGRESSIVE_TOKEN.
provider "progressive" {}

data "progressive_engine" "this" {}

resource "progressive_project" "checkout" {
  name        = "checkout"
  description = "Releases, toggles and dark launches of the checkout team."
}

# A release toggle: employees first, then a sticky 10 % of customers.
resource "progressive_feature_toggle" "new_checkout" {
  project     = progressive_project.checkout.name
  key         = "new-checkout"
  description = "New checkout flow"
  variants = {
    on  = jsonencode(true)
    off = jsonencode(false)
  }
  default_variant = "off"

  rule {
    name    = "employees"
    variant = "on"
    condition {
      attribute = "email"
      operator  = "ends_with"
      values    = ["@example.com"]
    }
  }

  rollout {
    weights = {
      on  = 10
      off = 90
    }
  }
}

output "engine" {
  value = {
    version    = data.progressive_engine.this.version
    backend    = data.progressive_engine.this.backend
    healthy    = data.progressive_engine.this.healthy
    token_name = data.progressive_engine.this.token_name
  }
}

output "project" {
  value = {
    name    = progressive_project.checkout.name
    version = progressive_project.checkout.version
  }
}

output "toggle" {
  value = progressive_feature_toggle.new_checkout.id
}
