import { Link } from 'react-router';

export function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No page here. <Link to="/orders">Orders</Link>
      </p>
    </section>
  );
}
