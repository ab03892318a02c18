# The chat backend runs in production weeks before its UI: 10 % of live reads
# are mirrored to it and compared, 20 simulated actions a second add load,
# testers reach it through the load balancer with a header, and the UI's
# release toggle stays off until 10,000 requests met the bounds.
resource "progressive_feature_toggle" "chat_ui" {
  key         = "chat-ui"
  description = "The new chat UI, held off by the chat-backend dark launch"
  enabled     = false # a dark launch holds only a toggle that serves its off variant
  variants = {
    on  = jsonencode(true)
    off = jsonencode(false)
  }
  default_variant = "on"
  off_variant     = "off"
}

resource "progressive_dark_launch" "chat" {
  name           = "chat-backend"
  live_url       = "http://chat-v1.internal:8080" # upstream whose responses users get
  dark_url       = "http://chat-v2.internal:8080" # mirrored copies go here; responses are compared and discarded
  mirror_percent = 10
  methods        = ["GET", "HEAD"] # the default; POST, PUT, PATCH and DELETE have side effects and must be named
  strip_headers  = ["Cookie"]

  compare {
    enabled           = true
    ignore_headers    = ["Date", "X-Request-Id"]
    ignore_json_paths = ["$.timestamp", "$.items[*].etag"]
    noise_url         = "http://chat-v1-b.internal:8080" # a second live instance: live-vs-noise differences are discounted
  }

  synthetic {
    requests_per_second = 20
    request {
      method = "GET"
      path   = "/api/rooms"
    }
    request {
      method  = "GET"
      path    = "/api/rooms/42/messages"
      headers = { "X-User" = "synthetic" }
    }
  }

  alb {
    listener_arn     = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/chat/3b1f2e4d5c6a7b8c/9d0e1f2a3b4c5d6e"
    rule_priority    = 50
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/chat-v2/1a2b3c4d5e6f7a8b"
    http_header {
      name   = "x-dark-launch"
      values = ["chat"]
    }
  }

  acceptance {
    min_requests    = 10000
    max_error_rate  = 0.01
    max_p99_latency = "300ms"
    max_diff_rate   = 0.02
  }

  release_toggle = progressive_feature_toggle.chat_ui.key
}

# Once status is "proven", switch the toggle on (enabled = true): before that
# the engine refuses, with the launch's progress.
