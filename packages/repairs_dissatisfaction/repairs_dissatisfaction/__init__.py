"""Dissatisfaction in residents' messages: under the Housing Ombudsman's Complaint Handling Code any expression
of dissatisfaction with the landlord is a complaint, whether or not the resident says "complaint".

model.py holds the learned classifier (a logistic regression over the shared sentence encoder's embedding,
its weights in model.json) and scores embeddings; scoring.py scores texts (`dissatisfaction_score`);
training.py learns model.json from data/training.yml (`python -m repairs_dissatisfaction.training`, in the
Rasa environment, which has scikit-learn). Nothing is imported here, and nothing is loaded until asked.
"""
