"""Results in, figures and HTML out (never shown here), and what each view exports."""
