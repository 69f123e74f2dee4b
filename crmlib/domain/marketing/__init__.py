"""Marketing: campaigns, their members and ROI, and campaign attribution."""
