"""Data in: the dataset registry and its parsers, a user's run files, the registered run families, tables of
published facts, and the points a question asks about. Everything read from outside is checked here."""
