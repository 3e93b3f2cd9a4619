package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"commpulse/pipeline/security"
	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "migrate", summary: "create or upgrade the ClickHouse schema (idempotent; --cluster for a sharded cluster); --roles also applies the access model", run: runMigrate})
}

// rolesFlags select whether migrate applies or prints the access model
// (store.AccessModel) and where the users' passwords come from. Passwords
// are read from files only: a flag value would show in `ps` and in shell
// history.
type rolesFlags struct {
	apply, print  bool
	passwordFiles map[store.Role]*string
}

func (r *rolesFlags) bind(fs *flag.FlagSet) {
	fs.BoolVar(&r.apply, "roles", false, "after migrating, create or update the roles and users of the access model (needs a user with access management)")
	fs.BoolVar(&r.print, "print-roles-sql", false, "print the access model's SQL for review (with --cluster, --replicated: the cluster's) and exit without connecting")
	r.passwordFiles = map[store.Role]*string{}
	for _, role := range store.Roles {
		r.passwordFiles[role] = fs.String("roles-"+string(role)+"-password-file", "",
			fmt.Sprintf("file holding the password of the %s user (without it the %s role is created but no user)", role, role))
	}
	for _, role := range store.ClusterRoles {
		r.passwordFiles[role] = fs.String("roles-"+string(role)+"-password-file", "",
			fmt.Sprintf("with --cluster: file holding the password of the %s user, the user remote_servers names for each replica (without it the %s role is created but no user)", role, role))
	}
}

// model reads the password files into the access model of database db on
// cluster c (--cluster, --replicated; the zero value is one server).
func (r *rolesFlags) model(db string, c store.Cluster) (store.AccessModel, error) {
	m := store.AccessModel{Database: db, Passwords: map[store.Role]string{}, Cluster: c}
	for _, role := range append(store.Roles, store.ClusterRoles...) {
		file := *r.passwordFiles[role]
		if file == "" {
			continue
		}
		pw, err := security.Secret("roles-"+string(role)+"-password", "", file)
		if err != nil {
			return m, usageError{err}
		}
		if pw == "" {
			return m, usageError{fmt.Errorf("roles-%s-password-file %s is empty", role, file)}
		}
		m.Passwords[role] = pw
	}
	return m, nil
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	ch := store.DefaultFlags()
	ch.RegisterFlags(fs)
	var roles rolesFlags
	roles.bind(fs)
	printSQL := fs.Bool("print-sql", false, "print the schema DDL that migrate runs on a fresh database (with --cluster, --replicated: the cluster's) and exit without connecting")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := chConfig(&ch)
	if err != nil {
		return err
	}
	if *printSQL {
		script, err := store.SchemaScript(cfg)
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, script)
		return err
	}
	var model store.AccessModel
	if roles.apply || roles.print {
		if model, err = roles.model(cfg.Database, cfg.Cluster); err != nil {
			return err
		}
	}
	if roles.print {
		script, err := model.SQLScript()
		if err != nil {
			return usageError{err}
		}
		_, err = io.WriteString(stdout, script)
		return err
	}
	st, err := store.Open(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema of %s is up to date\n", cfg.Database)
	} else {
		fmt.Fprintf(stdout, "applied migrations %v to %s\n", applied, cfg.Database)
	}
	if !roles.apply {
		return nil
	}
	if err := st.ApplyRoles(ctx, model); err != nil {
		return err
	}
	var users []string
	for _, r := range model.Roles() {
		if _, ok := model.Passwords[r]; ok {
			users = append(users, model.UserName(r))
		}
	}
	fmt.Fprintf(stdout, "applied roles %s_{%s}_role, users %v\n", cfg.Database, roleList(model.Roles()), users)
	return nil
}

func roleList(rs []store.Role) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(string(r))
	}
	return b.String()
}
