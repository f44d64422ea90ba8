"""Demo data: the accounts, customers and activity of `custapp seed-demo` (and the benchmarks).
Above the services, as the command line is: it writes through them, and no service imports it."""
