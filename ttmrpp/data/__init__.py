"""Training and benchmark records: one typed record and reader, and the training mixture."""
