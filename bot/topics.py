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

# The IOM service line a topic belongs to (retention periods are set per service). The intake's
# service question uses the same mapping on the Rasa side (actions/intake.py SERVICE_BY_INTENT;
# the two environments cannot import each other, a test keeps them equal).
SERVICE_OF_TOPIC: dict[str, str] = {
    "return_info": "return",
    "return_eligibility": "return",
    "reintegration_support": "return",
    "travel_documents": "return",
    "return_special_needs": "return",
    "detention": "return",
    "family_reunification": "family_reunification",
    "resettlement": "resettlement",
    "labour_market": "labour_market",
    "cd4d": "cd4d",
}
