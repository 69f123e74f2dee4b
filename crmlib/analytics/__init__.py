"""Analytics: figures computed in the database with SQLAlchemy Core, returned as tidy
DataFrames, always within the asking user's scope."""
