"""The Solana stand-in end to end over HTTP with a real keypair: quote, swap, sign, send,
confirm, read the transaction back; signatures checked for real, resends not re-executed."""

from __future__ import annotations

import base64

from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from rampart_testkit.solana_sim import SolanaSimHandle
from rampart_testkit.solana_sim.markets import JUPITER_PROGRAM
from rampart_testkit.solana_sim.swap_api import BAGS_DEFAULT_PRIORITY_FEE
from rampart_testkit.solana_sim.txbuild import build_swap_tx

from .sim_helpers import SOL, USDC, SimClient, funded_user, with_solana_sim


def _k(sim: SolanaSimHandle, route: str) -> int:
    pool = sim.state()["pools"]["SOL/USDC"][route]
    return int(pool["base"]) * int(pool["quote"])


def test_round_trips_on_both_routes() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        who = str(user.pubkey())
        for route, mode, inp, out, amount in (
            ("jupiter", "ExactOut", USDC, SOL, 2 * 10**9),  # buy 2 SOL exactly
            ("bags", "ExactIn", SOL, USDC, 10**9),  # sell 1 SOL
            ("bags", "ExactIn", USDC, SOL, 75 * 10**6),  # buy SOL with 75 USDC
            ("jupiter", "ExactIn", SOL, USDC, 3 * 10**8),
        ):
            k_before = _k(sim, route)
            lamports = sim.lamports(who)
            before = {m: sim.balance(who, m) for m in (SOL, USDC)}
            fees_before = sim.state()["platform_fees"].get(SOL, 0)
            quote, tx = await c.signed_swap(route, user, inp, out, amount, mode, priority=7000)
            sent = await c.send(tx)
            signature = sent["result"]
            assert signature == str(tx.signatures[0])
            assert await c.status(signature) is None  # not landed before the next slot
            await sim.advance(1)
            status = await c.status(signature)
            assert status is not None and status["confirmationStatus"] == "processed"
            assert (
                await c.result("getTransaction", [signature, {"commitment": "confirmed"}]) is None
            )
            await sim.advance(1)
            status = await c.status(signature)
            assert status == {**status, "confirmationStatus": "confirmed", "err": None}
            got = await c.result(
                "getTransaction",
                [
                    signature,
                    {
                        "encoding": "json",
                        "commitment": "confirmed",
                        "maxSupportedTransactionVersion": 0,
                    },
                ],
            )
            meta = got["meta"]
            # bags.fm sets its own priority fee (the request has no such field); Jupiter's is asked.
            priority = 7000 if route == "jupiter" else BAGS_DEFAULT_PRIORITY_FEE
            assert meta["err"] is None and meta["fee"] == 5000 + priority
            assert sim.lamports(who) == lamports - 5000 - priority
            pre = {b["mint"]: int(b["uiTokenAmount"]["amount"]) for b in meta["preTokenBalances"]}
            post = {b["mint"]: int(b["uiTokenAmount"]["amount"]) for b in meta["postTokenBalances"]}
            assert all(b["owner"] == who for b in meta["postTokenBalances"])
            keys = got["transaction"]["message"]["accountKeys"]
            assert all(0 < b["accountIndex"] < len(keys) for b in meta["postTokenBalances"])
            spent, received = pre[inp] - post[inp], post[out] - pre[out]
            # the chain's balances moved by exactly what the transaction says
            assert sim.balance(who, inp) == before[inp] - spent
            assert sim.balance(who, out) == before[out] + received
            if mode == "ExactOut":
                assert received == amount
                assert spent <= int(quote["otherAmountThreshold"])
            else:
                assert spent == amount
                assert received >= int(quote["otherAmountThreshold"])
            assert (spent, received) == (int(quote["inAmount"]), int(quote["outAmount"]))
            assert _k(sim, route) >= k_before
            row = sim.state()["transactions"][-1]
            assert row["signature"] == signature and row["route"] == route
            if route == "bags":
                # bags.fm's fee is in SOL (a leg is SOL), whichever way the swap goes.
                fee = int(quote["platformFee"]["amount"])
                assert fee > 0 and row["platform_fee"] == fee and row["fee_mint"] == SOL
                assert sim.state()["platform_fees"][SOL] == fees_before + fee
            else:
                assert row["platform_fee"] == 0
        await sim.advance(40)
        assert (await c.status(signature))["confirmationStatus"] == "finalized"
        history = await c.result("getSignaturesForAddress", [who, {"limit": 2}])
        sent = [t["signature"] for t in sim.state()["transactions"]]
        assert [h["signature"] for h in history] == sent[::-1][:2]

    with_solana_sim(body)


def test_a_forged_or_unsigned_transaction_is_refused() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        quote = await c.quote("jupiter", USDC, SOL, 10**6)
        unsigned = await c.swap_tx("jupiter", quote, user)
        answer = await c.send(unsigned)
        assert answer["error"]["code"] == -32003
        # signed by someone else over the user's message: the signature does not verify
        forged = VersionedTransaction.populate(
            unsigned.message, [Keypair().sign_message(bytes(unsigned.message))]
        )
        assert (await c.send(forged))["error"]["code"] == -32003
        # a well-signed transaction of another payer carrying the user's ticket
        thief = funded_user(sim)
        ticket = next(iter(sim.chain.tickets.values()))
        blockhash = str(unsigned.message.recent_blockhash)
        stolen = VersionedTransaction.from_bytes(
            base64.b64decode(
                build_swap_tx(
                    user=str(thief.pubkey()),
                    program=JUPITER_PROGRAM,
                    ticket_id=ticket.id,
                    input_mint=USDC,
                    output_mint=SOL,
                    blockhash=blockhash,
                    priority_fee=0,
                )
            )
        )
        signed = VersionedTransaction(stolen.message, [thief])
        assert signed.verify_with_results() == [True]
        assert (await c.send(signed))["error"]["code"] == -32003
        # garbage is a plain invalid-params error, not a crash
        assert (await c.rpc("sendTransaction", ["bm90IGEgdHg=", {"encoding": "base64"}]))["error"][
            "code"
        ] == -32602
        await sim.advance(3)
        assert sim.state()["transactions"] == []
        assert sim.balance(str(user.pubkey()), USDC) == 10_000 * 10**6

    with_solana_sim(body)


def test_a_resend_of_the_same_signature_is_not_executed_twice() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        who = str(user.pubkey())
        _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 100 * 10**6)
        first = (await c.send(tx))["result"]
        assert (await c.send(tx, node="b"))["result"] == first
        await sim.advance(2)
        assert (await c.send(tx))["result"] == first  # after landing too
        await sim.advance(2)
        assert len(sim.state()["transactions"]) == 1
        assert sim.balance(who, USDC) == 9_900 * 10**6
        assert sim.lamports(who) == 10**9 - 15_000

    with_solana_sim(body)


def test_an_expired_blockhash_is_refused() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 10**6)
        latest = await c.result("getLatestBlockhash", [{"commitment": "confirmed"}])
        slot = await c.result("getSlot", [])
        assert latest["value"]["lastValidBlockHeight"] == slot + 150
        await sim.advance(150)
        assert await c.result("getBlockHeight", []) == latest["value"]["lastValidBlockHeight"]
        ok = await c.send(tx)  # still valid at height == lastValidBlockHeight
        assert "result" in ok
        _, late = await c.signed_swap("jupiter", user, USDC, SOL, 10**6)
        await sim.advance(151)
        answer = await c.send(late)
        assert answer["error"] == {
            "code": -32002,
            "message": "Transaction simulation failed: Blockhash not found",
        }

    with_solana_sim(body)
