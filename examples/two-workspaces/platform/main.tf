# Workspace 1, owned by the platform team: the environment. Every deploy
# changes it (a new version in the idle slot); it never moves customers.
terraform {
  required_providers {
    progressive = {
      source = "progressive-delivery/progressive"
    }
  }
}

provider "progressive" {
  project = "checkout"
}

variable "version" {
  description = "The version being deployed to the idle slot."
  type        = string
}

resource "progressive_release_environment" "checkout" {
  name = "checkout"
  blue {
    version          = "v41"
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-blue/6d0ecf831eec9f09"
  }
  green {
    version          = var.version
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-green/5f8f6d5a5a1b2c3d"
  }
  alb {
    listener_arn  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout/50dc6c495c0c9188/f2f7dc8efc522ab2"
    rule_priority = 100
  }
  bake_time       = "5m"
  rollback_alarms = ["checkout-5xx"]
}

output "idle_slot" {
  description = "Where the next version goes."
  value       = progressive_release_environment.checkout.idle_slot
}
