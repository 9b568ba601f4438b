"""The product-level topics (design.md §5): shared by NLU intents, analytics and ``baken eval``."""

TOPICS: tuple[str, ...] = (
    "greeting",
    "thanks_goodbye",
    "return_info",
    "return_eligibility",
    "reintegration_support",
    "travel_documents",
    "return_special_needs",
    "detention",
    "family_reunification",
    "resettlement",
    "labour_market",
    "cd4d",
    "contact",
    "apply",
    "request_human",
    "change_language",
    "privacy",
    "delete_data",
    "out_of_scope",
    "urgent_safety",
)
