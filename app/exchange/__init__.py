"""Data exchange with the tools field teams and analysts use: spreadsheets, ODK and KoboToolbox.

One module per format; each is self-contained (``xlsform``: a questionnaire version as an
XLSForm for ODK Collect and KoboCollect).
"""
