# The live figures of a dark launch, read on every plan: they move every few
# seconds, so they are not in the resource's state.
data "progressive_dark_launch" "chat" {
  name = "chat-backend"
}

output "chat_backend" {
  value = format("%s: %d of %d requests, error rate %.2f %%, p99 %s, diff rate %.2f %%, %d copies dropped",
    data.progressive_dark_launch.chat.status,
    data.progressive_dark_launch.chat.requests,
    data.progressive_dark_launch.chat.min_requests,
    data.progressive_dark_launch.chat.error_rate * 100,
    data.progressive_dark_launch.chat.p99_latency,
    data.progressive_dark_launch.chat.diff_rate * 100,
    data.progressive_dark_launch.chat.dropped,
  )
}
