"""What people add: evidence files, attestations, waivers, expiry reminders, data batches."""
