"""Service: tickets, their SLA clocks, customer feedback and the knowledge base."""
