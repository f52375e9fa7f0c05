package sqlstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

func TestMigrateIsIdempotentAndReportsStatus(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, err := sqlstore.Open(ctx, b.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			before, err := s.Migrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(before) == 0 || before[0].AppliedAt != nil {
				t.Fatalf("fresh database: want pending migrations, got %+v", before)
			}
			n, err := s.Migrate(ctx)
			if err != nil || n != len(before) {
				t.Fatalf("first migrate applied %d (err %v), want %d", n, err, len(before))
			}
			n, err = s.Migrate(ctx)
			if err != nil || n != 0 {
				t.Fatalf("second migrate applied %d (err %v), want 0", n, err)
			}
			after, err := s.Migrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range after {
				if m.AppliedAt == nil {
					t.Errorf("migration %d still pending", m.Version)
				}
			}
		})
	}
}

// Two replicas starting at once must not both run a migration (PostgreSQL).
func TestConcurrentMigrateAppliesOnce(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			url := b.URL(t)
			const replicas = 4
			stores := make([]*sqlstore.Store, replicas)
			for i := range stores {
				s, err := sqlstore.Open(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				stores[i] = s
			}
			var wg sync.WaitGroup
			applied := make([]int, replicas)
			errs := make([]error, replicas)
			for i, s := range stores {
				wg.Add(1)
				go func(i int, s *sqlstore.Store) {
					defer wg.Done()
					applied[i], errs[i] = s.Migrate(ctx)
				}(i, s)
			}
			wg.Wait()
			total := 0
			for i := range stores {
				if errs[i] != nil {
					t.Fatalf("replica %d: %v", i, errs[i])
				}
				total += applied[i]
			}
			all, _ := stores[0].Migrations(ctx)
			if total != len(all) {
				t.Fatalf("replicas applied %d migrations in total, want %d (each exactly once)", total, len(all))
			}
		})
	}
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	for _, raw := range []string{"", "mysql://x", "sqlite:"} {
		if _, err := sqlstore.Open(context.Background(), raw); err == nil {
			t.Errorf("Open(%q) succeeded", raw)
		}
	}
}
