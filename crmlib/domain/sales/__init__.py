"""The sales flow: leads (rules, assignment, conversion), the records under a customer
(contacts, opportunities, follow-ups, orders), opportunity stages and the pipeline."""
