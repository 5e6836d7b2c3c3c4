"""Turn finished searches into tables and plots for papers."""
