data "progressive_release_environment" "checkout" {
  name = "checkout"
}

output "checkout_traffic" {
  value = "blue ${data.progressive_release_environment.checkout.blue_weight}% / green ${data.progressive_release_environment.checkout.green_weight}% (${data.progressive_release_environment.checkout.release_status})"
}
