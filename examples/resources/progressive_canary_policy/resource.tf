# Roll out to successively larger groups: employees only (through an audience
# rule on the ALB), then 5 % of customers, then the fleet. Every 10 seconds in
# every stage the gates are read; an alarm in ALARM, or conversion falling
# below 15 % or more than 20 % below the same time last week, rolls the release
# back by itself.
resource "progressive_canary_policy" "standard" {
  name           = "standard"
  check_interval = "10s"

  stage {
    name            = "employees"
    traffic_percent = 0
    bake_time       = "10m"
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
    bake_time       = "15m"
  }
  stage {
    name            = "fleet"
    traffic_percent = 100
    bake_time       = "15m"
  }

  acceptance {
    alarm_names       = ["checkout-5xx", "checkout-p99-latency"]
    insufficient_data = "ignore"
    failure_limit     = 0
    error_limit       = 3

    metric {
      name        = "conversion"
      namespace   = "Shop"
      metric_name = "Conversions"
      dimensions  = { Service = "checkout" }
      statistic   = "Average"
      period      = 60
      min         = 0.15
      baseline {
        offset           = "168h"
        max_drop_percent = 20
      }
    }
  }
}

# An environment uses it with
#   canary_policy = progressive_canary_policy.standard.name
# and plans of its progressive_release then warn with what a release does:
# "employees 10m → early-customers 15m → fleet 15m, at least 40m".
