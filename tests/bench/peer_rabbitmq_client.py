#!/usr/bin/python3
"""The clients of tests/bench/peer-rabbitmq.sh, on Debian's python3-pika.

  peer_rabbitmq_client.py setup PORT QUEUES TYPE
      a durable fanout exchange "alerts" and QUEUES durable queues of TYPE
      (classic or quorum) bound to it, "peer-0" ...
  peer_rabbitmq_client.py sub PORT QUEUE N ACK_EVERY
      consumes N messages from QUEUE (prefetch 1000), checks each is the
      1 KiB payload, acks with multiple=true every ACK_EVERY messages and at
      the N-th; prints "done MONOTONIC_S BAD CPU_S" when the N-th is acked.
  peer_rabbitmq_client.py pub PORT N WINDOW
      waits for a line on stdin (go), then publishes N persistent 1 KiB
      messages to "alerts" with publisher confirms, at most WINDOW
      unconfirmed; prints "start MONOTONIC_S", "confirmed MONOTONIC_S NACKED
      CPU_S" once every confirm has come.

Times are CLOCK_MONOTONIC, which is the same clock in every process of the
machine, so the script can time first publish -> last consumer's last ack.
"""
import os
import sys
import time

import pika

PAYLOAD = b"x" * 1024


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def cpu():
    t = os.times()
    return t.user + t.system


def params(port):
    return pika.ConnectionParameters(
        host="127.0.0.1",
        port=int(port),
        credentials=pika.PlainCredentials("guest", "guest"),
        heartbeat=0,
        blocked_connection_timeout=300,
    )


def setup(port, queues, qtype):
    conn = pika.BlockingConnection(params(port))
    ch = conn.channel()
    ch.exchange_declare("alerts", exchange_type="fanout", durable=True)
    for i in range(int(queues)):
        q = f"peer-{i}"
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": qtype})
        ch.queue_bind(q, "alerts")
    conn.close()


def sub(port, queue, n, ack_every):
    n, ack_every = int(n), int(ack_every)
    conn = pika.BlockingConnection(params(port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=1000)
    state = {"count": 0, "bad": 0}

    def on_message(channel, method, _props, body):
        state["count"] += 1
        if body != PAYLOAD:
            state["bad"] += 1
        if state["count"] % ack_every == 0 or state["count"] == n:
            channel.basic_ack(method.delivery_tag, multiple=True)
        if state["count"] == n:
            channel.stop_consuming()

    ch.basic_consume(queue, on_message, auto_ack=False)
    print("ready", flush=True)
    ch.start_consuming()
    # The last ack is written by basic_ack; a round trip makes sure it left.
    conn.process_data_events(time_limit=0)
    print(f"done {now():.6f} {state['bad']} {cpu():.2f}", flush=True)
    conn.close()


def pub(port, n, window):
    n, window = int(n), int(window)
    state = {"sent": 0, "acked": 0, "nacked": 0, "start": 0.0, "next_tag": 1}
    props = pika.BasicProperties(delivery_mode=2)  # persistent

    def fill(channel):
        while state["sent"] < n and state["sent"] - state["acked"] - state["nacked"] < window:
            channel.basic_publish("alerts", "", PAYLOAD, props)
            state["sent"] += 1

    def on_confirm(frame):
        method = frame.method
        tag = method.delivery_tag
        done = tag - state["acked"] - state["nacked"] if method.multiple else 1
        if isinstance(method, pika.spec.Basic.Ack):
            state["acked"] += done
        else:
            state["nacked"] += done
        if state["acked"] + state["nacked"] >= n:
            print(f"confirmed {now():.6f} {state['nacked']} {cpu():.2f}", flush=True)
            conn.close()
            return
        fill(channel_ref[0])

    channel_ref = []

    def on_confirm_ok(_frame):
        sys.stdin.readline()  # go
        state["start"] = now()
        print(f"start {state['start']:.6f}", flush=True)
        fill(channel_ref[0])

    def on_channel(channel):
        channel_ref.append(channel)
        channel.confirm_delivery(on_confirm, callback=on_confirm_ok)

    def on_open(connection):
        connection.channel(on_open_callback=on_channel)

    def on_closed(connection, _reason):
        connection.ioloop.stop()

    conn = pika.SelectConnection(params(port), on_open_callback=on_open,
                                 on_close_callback=on_closed)
    conn.ioloop.start()
    if state["acked"] + state["nacked"] < n:
        sys.exit(f"publisher: connection closed with {state['acked']} of {n} confirmed")


def main(argv):
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "setup" and len(argv) == 5:
        setup(*argv[2:])
    elif mode == "sub" and len(argv) == 6:
        sub(*argv[2:])
    elif mode == "pub" and len(argv) == 5:
        pub(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
