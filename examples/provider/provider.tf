terraform {
  required_providers {
    progressive = {
      source = "progressive-delivery/progressive"
    }
  }
}

# The endpoint, token and project can also come from PROGRESSIVE_ENDPOINT,
# PROGRESSIVE_TOKEN and PROGRESSIVE_PROJECT.
provider "progressive" {
  endpoint = "https://progressive.internal.example.com"
  token    = var.progressive_token # a write token: progressive token create --kind write --name terraform
  project  = "checkout"
}

variable "progressive_token" {
  type      = string
  sensitive = true
}
