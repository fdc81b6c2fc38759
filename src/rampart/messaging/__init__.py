"""Messaging between the processes of a scaled-out Rampart: commands to every worker
over NATS JetStream, with acknowledgements. An adapter: it knows the clock and the domain's
errors, nothing above."""
