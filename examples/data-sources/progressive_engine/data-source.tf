data "progressive_engine" "this" {}

output "engine" {
  value = "Progressive ${data.progressive_engine.this.version} on ${data.progressive_engine.this.backend}, healthy: ${data.progressive_engine.this.healthy}"
}
