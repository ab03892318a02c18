# A dark launch is imported by its name, or <project>/<name>.
terraform import progressive_dark_launch.chat default/chat-backend
