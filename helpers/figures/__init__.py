"""Figures and widgets the lessons draw.

Every widget has a static figure first, so a lesson read without a
kernel still shows the idea.
"""
