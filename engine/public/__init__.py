"""What villagers see without signing in: progress by receipt code, the village wallet, reports by QR."""
