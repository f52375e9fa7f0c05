package mail

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// QueueConfig sizes the queue and its retries; zero values take the defaults.
type QueueConfig struct {
	// Size is how many messages may wait; one more is dropped (default 1000).
	Size int
	// Workers send at once (default 2).
	Workers int
	// Attempts is how many times a message is tried (default 5).
	Attempts int
	// Backoff is the wait before the second attempt, doubled for every
	// further one up to MaxBackoff (defaults 2s and 1m).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// SendTimeout bounds one attempt (default 30s).
	SendTimeout time.Duration
	// DrainTimeout bounds sending what is still queued at shutdown (default 10s).
	DrainTimeout time.Duration
}

func (c *QueueConfig) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Size, 1000)
	def(&c.Workers, 2)
	def(&c.Attempts, 5)
	defd(&c.Backoff, 2*time.Second)
	defd(&c.MaxBackoff, time.Minute)
	defd(&c.SendTimeout, 30*time.Second)
	defd(&c.DrainTimeout, 10*time.Second)
}

// Queue holds messages until its workers (Run) have sent them.
type Queue struct {
	sender  Sender
	cfg     QueueConfig
	log     *slog.Logger
	metrics *Metrics
	ch      chan item
}

// item is a message, or the work that makes one.
type item struct {
	msg     Message
	compose func(ctx context.Context) (Message, error)
}

// NewQueue returns a queue sending through sender. metrics may be nil.
func NewQueue(sender Sender, cfg QueueConfig, log *slog.Logger, metrics *Metrics) *Queue {
	cfg.defaults()
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	q := &Queue{sender: sender, cfg: cfg, log: log, metrics: metrics, ch: make(chan item, cfg.Size)}
	metrics.depth = func() float64 { return float64(len(q.ch)) }
	return q
}

// Enqueue queues m without blocking; a full queue drops it, logged and counted.
func (q *Queue) Enqueue(ctx context.Context, m Message) { q.enqueue(ctx, item{msg: m}) }

func (q *Queue) enqueue(ctx context.Context, it item) {
	select {
	case q.ch <- it:
	default:
		q.metrics.result("dropped")
		q.log.ErrorContext(ctx, "mail: queue full, message dropped", "subject", it.msg.Subject, "queue_size", q.cfg.Size)
	}
}

// Run sends queued messages until ctx ends, then sends what is still queued
// for up to DrainTimeout before returning.
func (q *Queue) Run(ctx context.Context) {
	done := make(chan struct{})
	for range q.cfg.Workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case it := <-q.ch:
					q.deliver(ctx, it)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	for range q.cfg.Workers {
		<-done
	}
	q.drain()
}

// drain sends what is left once the workers have stopped, each message
// tried once more within the drain deadline.
func (q *Queue) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), q.cfg.DrainTimeout)
	defer cancel()
	for {
		select {
		case it := <-q.ch:
			q.deliver(ctx, it)
		default:
			return
		}
	}
}

// deliver tries m up to Attempts times, waiting between attempts; a
// cancelled ctx ends the waiting, not the attempt under way.
func (q *Queue) deliver(ctx context.Context, it item) {
	m := it.msg
	if it.compose != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), q.cfg.SendTimeout)
		var err error
		m, err = it.compose(cctx)
		cancel()
		if err != nil {
			q.metrics.result("failed")
			q.log.Error("mail: could not compose the message", "error", err)
			return
		}
	}
	wait := q.cfg.Backoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), q.cfg.SendTimeout)
		err := q.sender.Send(actx, m)
		cancel()
		if err == nil {
			q.metrics.result("sent")
			return
		}
		last := attempt >= q.cfg.Attempts || IsPermanent(err)
		if last {
			q.metrics.result("failed")
			q.log.Error("mail: not sent", "subject", m.Subject, "attempts", attempt, "error", err)
			return
		}
		q.metrics.retries.Inc()
		q.log.Warn("mail: send failed, retrying", "subject", m.Subject, "attempt", attempt, "retry_in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			// Shutting down: one last attempt in the drain, then give up.
			if attempt+1 < q.cfg.Attempts {
				attempt = q.cfg.Attempts - 1
			}
		}
		wait = min(2*wait, q.cfg.MaxBackoff)
	}
}

// Metrics count what happened to messages.
type Metrics struct {
	messages *prometheus.CounterVec
	retries  prometheus.Counter
	depth    func() float64
}

// NewMetrics registers the mail metrics with reg (nil: unregistered).
//
//	puguh_mail_messages_total{result="sent|failed|dropped"}
//	puguh_mail_retries_total
//	puguh_mail_queue_depth
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "puguh_mail_messages_total",
			Help: "Outgoing messages by result: sent, failed (after every attempt), dropped (queue full)."}, []string{"result"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "puguh_mail_retries_total",
			Help: "Send attempts that failed and were retried."}),
		depth: func() float64 { return 0 },
	}
	for _, r := range []string{"sent", "failed", "dropped"} {
		m.messages.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.retries, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "puguh_mail_queue_depth",
			Help: "Messages waiting to be sent."}, func() float64 { return m.depth() }))
	}
	return m
}

func (m *Metrics) result(r string) { m.messages.WithLabelValues(r).Inc() }
