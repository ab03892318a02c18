# Blue-green behind an Application Load Balancer: the engine creates and owns
# listener rules at priorities 91..100 and moves the weights between the two
# target groups. Deploy each new version to idle_slot.
resource "progressive_release_environment" "checkout" {
  name = "checkout"

  blue {
    version          = "v41"
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-blue/6d0ecf831eec9f09"
    smoke_test_url   = "http://blue.checkout.internal/healthz"
  }
  green {
    version          = "v42"
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-green/5f8f6d5a5a1b2c3d"
    smoke_test_url   = "http://green.checkout.internal/healthz"
  }

  alb {
    listener_arn  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/checkout/50dc6c495c0c9188/f2f7dc8efc522ab2"
    rule_priority = 100
    host_headers  = ["checkout.example.com"]
  }

  smoke_test {
    expect_version = true
  }
  bake_time       = "5m"
  rollback_alarms = ["checkout-5xx", "checkout-p99-latency"]
}

# Blue-green with Route 53 weighted records, for services reached by DNS.
resource "progressive_release_environment" "search" {
  name = "search"

  blue {
    version   = "2026.11.1"
    dns_value = "search-blue.internal.example.com"
  }
  green {
    version   = "2026.11.2"
    dns_value = "search-green.internal.example.com"
  }

  route53 {
    zone_id     = "Z0123456789ABCDEFGHIJ"
    record_name = "search.example.com"
    record_type = "CNAME"
    ttl         = 60
  }

  bake_time       = "10m" # at least the TTL: clients must have re-resolved
  rollback_alarms = ["search-errors"]
}
