"""One module per verb; each keeps boto3 and docker imports inside its function."""
