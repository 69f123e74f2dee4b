"""Business records and their rules: users, customers and the records under them."""
