"""The Solana venue: market orders as swaps routed through bags.fm or Jupiter, signed with the
account's keypair and confirmed on chain through a pool of RPC nodes."""
