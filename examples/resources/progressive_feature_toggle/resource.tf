# A release toggle: employees first, then a sticky 10 % of customers.
resource "progressive_feature_toggle" "new_checkout" {
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

# An A/B experiment: three string variants split by account, only for
# recent mobile app versions.
resource "progressive_feature_toggle" "checkout_button" {
  key         = "checkout-button-copy"
  kind        = "experiment"
  description = "Which call to action converts best"
  variants = {
    control = jsonencode("Buy now")
    cart    = jsonencode("Add to cart")
    go      = jsonencode("Check out")
  }
  default_variant = "control"

  rule {
    name = "recent-app"
    condition {
      attribute = "appVersion"
      operator  = "semver_gte"
      values    = ["4.2.0"]
    }
    rollout {
      weights = {
        control = 34
        cart    = 33
        go      = 33
      }
      bucket_by = "accountId"
      salt      = "checkout-button-2026-11"
    }
  }
}

# An ops toggle that degrades gracefully: recommendations switch off by
# themselves while the latency alarm fires, and come back when it clears.
resource "progressive_feature_toggle" "recommendations" {
  key         = "recommendations"
  kind        = "ops"
  description = "Personalized recommendations on the product page"
  variants = {
    on  = jsonencode(true)
    off = jsonencode(false)
  }
  default_variant   = "on"
  off_variant       = "off"
  disable_on_alarms = ["checkout-p99-latency"]
}
