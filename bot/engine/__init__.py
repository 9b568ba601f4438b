"""The dialogue engine seam: the Rasa HTTP client and the NLG endpoint's renderer."""
