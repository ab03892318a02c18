# Workspace 2, owned by whoever decides when customers see the change (a
# product owner's pull request, a release calendar): only the release.
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

resource "progressive_release" "checkout" {
  environment = "checkout"
  slot        = "green"
  trigger     = "v42"
}

output "release" {
  value = "${progressive_release.checkout.id}: ${progressive_release.checkout.status}"
}
