"""Dissatisfaction in residents' messages: under the Housing Ombudsman's Complaint Handling Code any expression
of dissatisfaction with the landlord is a complaint, whether or not the resident says "complaint".

model.py holds the learned classifier (a logistic regression over the shared sentence encoder's embedding,
its weights in model.json) and scores embeddings, and combines a long message's score with its sentences'
(`combine`); sentences.py cuts a long message into those sentences; scoring.py scores texts by that one rule
(`dissatisfaction_score`, or `score_embedded` for callers that hold the embeddings);
training.py learns model.json from data/training.yml (`python -m repairs_dissatisfaction.training`, in the
Rasa environment, which has scikit-learn). Nothing is imported here, and nothing is loaded until asked.
"""
