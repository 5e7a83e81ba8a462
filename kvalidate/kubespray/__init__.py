"""What is true of Kubespray only: layouts, facts, simulated module results, cells, branch
differences read from the checkout."""
