"""Complaints under the Housing Ombudsman Complaint Handling Code: how officers work them."""
