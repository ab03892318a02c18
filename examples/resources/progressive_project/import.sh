# A project is imported by its name.
terraform import progressive_project.checkout checkout
