# The quick start: `make quickstart` starts an engine on its embedded SQLite
# store and applies this (a project and a feature toggle); `make demo` also
# starts a local AWS emulator, seeds an ALB and alarms, passes their ARNs in
# the variables below, and releases through a canary policy.
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

# --- Canary releases: created when an ALB listener is given (make demo). ---

variable "listener_arn" {
  type        = string
  default     = ""
  description = "ALB listener the engine adds its rules to; empty skips the canary part."
}

variable "blue_target_group_arn" {
  type    = string
  default = ""
}

variable "green_target_group_arn" {
  type    = string
  default = ""
}

variable "alarm_names" {
  type        = list(string)
  default     = []
  description = "CloudWatch alarms that roll a release back."
}

variable "blue_version" {
  type    = string
  default = "v1"
}

variable "green_version" {
  type    = string
  default = "v1"
}

variable "release_slot" {
  type        = string
  default     = "blue"
  description = "The slot customers get; changing it starts a release."
}

variable "release_trigger" {
  type    = string
  default = "v1"
}

locals {
  canary = var.listener_arn == "" ? 0 : 1
}

# Employees first, then 5 % of customers, then everyone; any alarm rolls back.
resource "progressive_canary_policy" "standard" {
  count          = local.canary
  project        = progressive_project.checkout.name
  name           = "standard"
  check_interval = "1s"

  stage {
    name            = "employees"
    traffic_percent = 0
    bake_time       = "8s"
    audience {
      source_ips = ["10.0.0.0/8"]
      http_header {
        name   = "x-employee"
        values = ["true"]
      }
    }
  }
  stage {
    name            = "early-customers"
    traffic_percent = 5
    bake_time       = "12s"
  }
  stage {
    name            = "fleet"
    traffic_percent = 100
    bake_time       = "5s"
  }

  acceptance {
    alarm_names = var.alarm_names
  }
}

resource "progressive_release_environment" "checkout" {
  count         = local.canary
  project       = progressive_project.checkout.name
  name          = "checkout"
  canary_policy = progressive_canary_policy.standard[0].name

  blue {
    version          = var.blue_version
    target_group_arn = var.blue_target_group_arn
  }
  green {
    version          = var.green_version
    target_group_arn = var.green_target_group_arn
  }
  alb {
    listener_arn  = var.listener_arn
    rule_priority = 100
  }
}

resource "progressive_release" "checkout" {
  count       = local.canary
  project     = progressive_project.checkout.name
  environment = progressive_release_environment.checkout[0].name
  slot        = var.release_slot
  trigger     = var.release_trigger
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
