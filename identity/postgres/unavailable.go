package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// unavailable reports whether err says that the database could not be
// reached or is going away, rather than that the statement failed: the
// errors that [identity.ErrUnavailable] stands for.
//
// They are: SQLSTATE class 08 (connection exception); 57P01
// admin_shutdown (pg_ctl stop, pg_terminate_backend), 57P02
// crash_shutdown and 57P03 cannot_connect_now (starting up or shutting
// down); 53300 too_many_connections; a failed connect; a dropped, reset or
// closed connection; a timeout.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && pe.Code[:2] == "08",
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", pe.Code == "53300":
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.Timeout(err),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}
